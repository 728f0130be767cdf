"""The brand form, used by the staff app's brand page and the Django admin alike."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mailer.brand.models import Brand
from mailer.brand.services import (
    BrandRejected,
    colour_check,
    logo_check,
    reply_to_check,
    social_links_parse,
    social_links_text,
)


class BrandForm(forms.ModelForm):
    social_links = forms.CharField(
        label=_("Social links"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("One a line: a label, a space and an https:// address, e.g. "
                    "\"Facebook https://facebook.com/example\"."))
    reply_to = forms.CharField(label=_("Reply-to address"), required=False, max_length=254,
                               strip=False,
                               help_text=_("Replies to newsletters and confirmation mails go "
                                           "here. Empty: replies go to the From address."))
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = Brand
        fields = ["name_en", "name_ru", "logo", "primary_colour", "accent_colour",
                  "postal_address", "social_links", "reply_to"]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
            "postal_address": forms.Textarea(attrs={"rows": 2}),
            "logo": forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
        }
        help_texts = {
            "primary_colour": _("The site header, the email masthead, links and buttons, with "
                                "white text on it: needs a contrast of 4.5:1 with white."),
            "accent_colour": _("Sub-headings and quote bars on white: needs at least 3:1."),
            "postal_address": _("Shown in every email's footer and on every public page. "
                                "Empty: the address from the server settings."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["social_links"] = social_links_text(self.instance.social_links or [])
        self.fields["logo"].help_text = _("PNG, JPEG, GIF or WebP, shown 48 px high. Choose a "
                                          "file only to replace the current logo.")
        self.order_fields(["name_en", "name_ru", "logo", "remove_logo"])
        self._logo_size: tuple[int, int] | None = None

    def _checked(self, check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except BrandRejected as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_primary_colour(self) -> str:
        return str(self._checked(colour_check, self.cleaned_data["primary_colour"], role="primary"))

    def clean_accent_colour(self) -> str:
        return str(self._checked(colour_check, self.cleaned_data["accent_colour"], role="accent"))

    def clean_social_links(self) -> list[dict[str, str]]:
        return list(self._checked(social_links_parse, self.cleaned_data.get("social_links") or ""))

    def clean_reply_to(self) -> str:
        return str(self._checked(reply_to_check, self.cleaned_data.get("reply_to") or ""))

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "content_type"):  # a new upload, not the stored file
            self._logo_size = self._checked(logo_check, logo)
        return logo

    def save(self, commit: bool = True) -> Brand:
        brand: Brand = super().save(commit=False)
        if self.cleaned_data.get("remove_logo") or not brand.logo:
            brand.logo, brand.logo_width, brand.logo_height = None, None, None  # type: ignore[assignment]
        elif self._logo_size is not None:
            brand.logo_width, brand.logo_height = self._logo_size
        if commit:
            brand.save()
        return brand
