"""Sign-in (throttled), sign-out, the start page and the user's own API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mailer.web.forms import ThrottledLoginForm
from mailer.web.roles import Cap, role_of
from mailer.web.tokens import token_create, token_revoke


class LoginView(auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "app/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        # An idle or forgotten session ends on its own (SESSION_COOKIE_AGE by default).
        self.request.session.set_expiry(settings.SESSION_IDLE_SECONDS)
        return response


logout = auth_views.LogoutView.as_view(next_page="web:login")


def home(request: HttpRequest) -> HttpResponse:
    """Anonymous -> sign-in; staff go to what their role does most."""
    user = request.user
    if not user.is_authenticated:
        return redirect("web:login")
    if user.has_perm(Cap.EDIT_ISSUES.value) or user.has_perm(Cap.VIEW_REPORTS.value):
        return redirect("web:issues")
    return render(request, "app/no_role.html", status=403)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    created = None
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()[:100] or _("API token")
        created = token_create(request.user, name=name)
    return render(request, "app/tokens.html", {
        "tokens": request.user.api_tokens.filter(revoked_at__isnull=True),  # type: ignore[union-attr]
        "created": created, "role": role_of(request.user),
    })


@require_POST
@login_required
def token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if token_revoke(request.user, pk):
        messages.success(request, _("Token revoked; programs using it can no longer sign in."))
    return redirect("web:tokens")
