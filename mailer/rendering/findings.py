"""What a render found wrong: errors stop a send, warnings are shown to staff."""

from __future__ import annotations

from dataclasses import dataclass

from mailer.errors import MailerError


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message} [{self.code}]"


class RenderError(MailerError):
    """The issue cannot be rendered; ``findings`` lists every problem found (errors first)."""

    def __init__(self, findings: list[Finding]):
        self.findings = sorted(findings, key=lambda f: f.level != "error")
        super().__init__("; ".join(f.message for f in self.findings if f.level == "error")
                         or "; ".join(f.message for f in self.findings))


def errors_in(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]
