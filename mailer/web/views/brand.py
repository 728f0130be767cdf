"""Admin pages of the app: the organisation's brand, and the subscribe form snippet per
public list for the organisation's own website."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mailer.brand.forms import BrandForm
from mailer.brand.services import brand_current, brand_look, brand_save, brand_warnings
from mailer.web.access import capability_required
from mailer.web.roles import Cap
from subscribers.forms import SubscribeForm
from subscribers.models import MailingList
from subscribers.views import consent_text_for


@capability_required(Cap.MANAGE_SETTINGS)
def brand_edit(request: HttpRequest) -> HttpResponse:
    brand = brand_current()
    form = BrandForm(request.POST or None, request.FILES or None, instance=brand)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        stale = brand_save(saved, user=request.user)
        messages.success(request, ngettext(
            "The brand was saved. Public pages show it now; %(n)d compiled email will be "
            "rendered again with it. Sends already under way keep the look they started with.",
            "The brand was saved. Public pages show it now; %(n)d compiled emails will be "
            "rendered again with it. Sends already under way keep the look they started with.",
            stale) % {"n": stale})
        for warning in brand_warnings(saved):
            messages.warning(request, warning)
        return redirect("web:brand")
    look = brand_look(brand, translation.get_language() or "en")
    return render(request, "app/brand.html", {"form": form, "look": look})


@capability_required(Cap.MANAGE_AUDIENCE)
def signup_forms(request: HttpRequest) -> HttpResponse:
    lists = MailingList.objects.filter(visibility=MailingList.Visibility.PUBLIC).order_by("name")
    return render(request, "app/signup_forms.html", {"lists": lists})


@capability_required(Cap.MANAGE_AUDIENCE)
def signup_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML to paste into the organisation's website, in the language asked for."""
    mlist = get_object_or_404(MailingList, pk=pk)
    codes = [code for code, _name in settings.LANGUAGES]
    language = request.GET.get("lang") if request.GET.get("lang") in codes else (
        translation.get_language() or "en")
    snippet = ""
    if mlist.visibility == MailingList.Visibility.PUBLIC:
        with translation.override(language):
            snippet = render_to_string("subscribers/embed_snippet.html", {
                "list": mlist, "form": SubscribeForm(), "language": language,
                "consent_text": consent_text_for(mlist),
                "action": f"{settings.SITE_URL.rstrip('/')}/subscribe/{mlist.slug}/embed/",
            }).strip()
    return render(request, "app/signup_form.html", {
        "list": mlist, "snippet": snippet, "language": language,
        "languages": settings.LANGUAGES,
        "private_note": _("This list is private: its subscribe page and form are refused "
                          "to the public. Make it public in the admin to offer a form."),
    })
