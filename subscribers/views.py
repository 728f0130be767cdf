"""Public pages: subscribe, confirm, preferences (with data download and erasure), and the
one-click unsubscribe endpoint of every email's List-Unsubscribe header (RFC 8058).

Views are thin: they check the signed token or the form, then call ``subscribers.services``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailer.core.client_ip import client_ip as core_client_ip
from subscribers import services
from subscribers.forms import HONEYPOT, PreferencesForm, SubscribeForm
from subscribers.mail import mail_queue, welcome_queue
from subscribers.mail_content import PreferencesChange
from subscribers.models import (
    ConsentRecord,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
    TransactionalMail,
    email_hash,
)
from subscribers.tokens import (
    BadToken,
    ExpiredToken,
    confirm_token_read,
    preferences_token,
    preferences_token_read,
    unsubscribe_token_scope,
)

SUBSCRIBE_LIMIT = 10  # attempts per IP address per window
SUBSCRIBE_WINDOW = 3600
CONFIRMATIONS_PER_DAY = 3  # confirmation mails to one address
LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def client_ip(request: HttpRequest) -> str | None:
    return core_client_ip(request)


def rate_limited(scope: str, key: str, limit: int, window: int) -> bool:
    """Fixed-window counter in Django's cache: True once ``key`` passed ``limit`` hits."""
    name = f"ratelimit:{scope}:{key}"
    cache.add(name, 0, timeout=window)
    try:
        return cache.incr(name) > limit
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window)
        return False


def _bad_link(request: HttpRequest, message: str, *, status: int = 400) -> HttpResponse:
    return render(request, "subscribers/bad_link.html", {"message": message}, status=status)


def _language_for(request: HttpRequest) -> str:
    wanted = request.GET.get("lang", "")
    return wanted if wanted in LANGUAGE_CODES else translation.get_language() or "en"


# --- Subscribe and confirm -------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    mlist = get_object_or_404(MailingList, slug=slug, visibility=MailingList.Visibility.PUBLIC)
    language = _language_for(request)
    with translation.override(language):
        if request.method == "GET":
            form = SubscribeForm(initial={"language": language})
            return render(request, "subscribers/subscribe.html",
                          {"list": mlist, "form": form, "consent_text": consent_text_for(mlist)})
        return _subscribe_post(request, mlist)


def consent_text_for(mlist: MailingList) -> str:
    """What the person agrees to, in the active language; stored with their consent."""
    return _("I agree to receive %(list)s by email. I can unsubscribe at any "
             "time with the link in every email.") % {"list": mlist.name}


@never_cache
@csrf_exempt
@require_http_methods(["POST"])
def subscribe_embedded(request: HttpRequest, slug: str) -> HttpResponse:
    """The target of the subscribe form pasted into the organisation's own website: a
    cross-site POST, which carries no CSRF cookie of ours. CSRF protects a signed-in
    session from acting against its will; here there is no session to abuse, and what a
    forged post could do (ask for a subscription) is bounded by the same guards as the
    form on our site: 10 posts per IP an hour, the honeypot, the same answer whatever the
    address, at most 3 confirmation mails per address a day, and double opt-in."""
    mlist = get_object_or_404(MailingList, slug=slug, visibility=MailingList.Visibility.PUBLIC)
    wanted = request.POST.get("language", "")
    with translation.override(wanted if wanted in LANGUAGE_CODES else _language_for(request)):
        return _subscribe_post(request, mlist)


def _subscribe_post(request: HttpRequest, mlist: MailingList) -> HttpResponse:
    consent_text = consent_text_for(mlist)
    if rate_limited("subscribe", client_ip(request) or "-", SUBSCRIBE_LIMIT, SUBSCRIBE_WINDOW):
        return render(request, "subscribers/rate_limited.html", {"list": mlist}, status=429)
    form = SubscribeForm(request.POST)
    if request.POST.get(HONEYPOT):
        # A bot: answer exactly as for a person, do nothing.
        return render(request, "subscribers/subscribe_done.html", {"list": mlist})
    if not form.is_valid():
        return render(request, "subscribers/subscribe.html",
                      {"list": mlist, "form": form, "consent_text": consent_text}, status=400)
    _subscribe(mlist, form.cleaned_data, client_ip(request), consent_text,
               request.build_absolute_uri())
    # The same answer whatever the state of the address: it reveals nothing.
    return render(request, "subscribers/subscribe_done.html", {"list": mlist})


def _subscribe(mlist: MailingList, data: dict[str, Any], ip: str | None, consent_text: str,
               source: str) -> None:
    """Apply a subscribe form: queue a confirmation mail (double opt-in) or the list's
    welcome mail (single opt-in), as the state of the address allows.

    Anyone can type anyone's address, so after the person unsubscribed (from any list, or
    from everything) the form can only start a double opt-in, even on a single-opt-in list:
    their own click on the confirmation link is the only way back (issue 10)."""
    email: str = data["email"]
    with transaction.atomic():
        suppression = Suppression.objects.filter(email_hash=email_hash(email)).first()
        if suppression and suppression.reason != Suppression.Reason.UNSUBSCRIBED:
            return  # bounced, complained, blocked or erased: never re-added by a form
        sub = services.subscriber_find(email)
        if sub is None:
            sub = Subscriber.objects.create(
                email=email, email_hash=email_hash(email), name=data.get("name", ""),
                language=data.get("language") or "en")
        # An anonymous form never overwrites an existing person's name or language.
        if sub.status == Subscriber.Status.BLOCKLISTED:
            return
        current = Subscription.objects.filter(subscriber=sub, mailing_list=mlist).first()
        if current is not None and current.status == Subscription.Status.CONFIRMED:
            return
        opted_out = suppression is not None or sub.subscriptions.filter(
            status=Subscription.Status.UNSUBSCRIBED).exists()
        if mlist.opt_in == MailingList.OptIn.SINGLE and not opted_out:
            joined = services.subscription_set(
                sub, mlist, Subscription.Status.CONFIRMED, actor="subscriber:form",
                method="form", source=source, ip=ip, consent_text=consent_text)
            welcome_queue(joined)
            return
        pending = services.subscription_set(
            sub, mlist, Subscription.Status.UNCONFIRMED, actor="subscriber:form",
            method="form", source=source, ip=ip, consent_text=consent_text)
        if not pending.consent_text:
            Subscription.objects.filter(pk=pending.pk).update(consent_text=consent_text)
        # However many IPs ask, one inbox gets at most a few confirmation mails a day.
        if not rate_limited("confirm-mail", sub.email_hash, CONFIRMATIONS_PER_DAY, 86400):
            mail_queue(TransactionalMail.Kind.CONFIRMATION, sub, mailing_list=mlist,
                       subscription=pending)


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        sub_id, digest, consent_id = confirm_token_read(token)
    except BadToken:
        return _bad_link(request, _("This confirmation link is invalid or has expired. "
                                    "Please subscribe again to get a new one."))
    sub = Subscription.objects.select_related("subscriber", "mailing_list").filter(
        pk=sub_id, subscriber__email_hash__startswith=digest).first()
    if sub is None:
        raise Http404("no such subscription")
    with translation.override(sub.subscriber.language):
        done = {"list": sub.mailing_list,
                "preferences_url": f"/p/{preferences_token(sub.subscriber.pk)}/"}
        if sub.status == Subscription.Status.CONFIRMED:
            # A link opened again (or by a scanner after the person's click) says so,
            # instead of offering to confirm what is confirmed.
            return render(request, "subscribers/confirm_done.html", {**done, "already": True})
        if request.method == "GET":
            # Link scanners fetch every URL in a message: a GET only shows the button.
            return render(request, "subscribers/confirm.html", {"list": sub.mailing_list})
        with transaction.atomic():
            if not _confirm_link_use(sub, consent_id):
                return _bad_link(request, _(
                    "This confirmation link has already been used, so it changed nothing. "
                    "If you want to receive %(list)s again, subscribe once more on its "
                    "page and use the link in the new email.") % {"list": sub.mailing_list.name},
                    status=410)
            confirmed = services.subscription_set(
                sub.subscriber, sub.mailing_list, Subscription.Status.CONFIRMED,
                actor="subscriber:confirm", method="double-opt-in",
                source=request.build_absolute_uri(), ip=client_ip(request))
            services.suppression_lift_for_optin(sub.subscriber)
            welcome_queue(confirmed)
        return render(request, "subscribers/confirm_done.html", done)


def _confirm_link_use(sub: Subscription, consent_id: int | None) -> bool:
    """Spend a confirmation link; False if it was spent before (a replay, e.g. after the
    person unsubscribed again). The conditional UPDATE's row count says who won. A link
    mailed before links carried a consent id works only while the subscription waits."""
    if consent_id is None:
        return sub.status == Subscription.Status.UNCONFIRMED
    return ConsentRecord.objects.filter(
        pk=consent_id, subscriber_id=sub.subscriber_id, mailing_list_id=sub.mailing_list_id,
        used_at__isnull=True).update(used_at=timezone.now()) == 1


# --- One-click unsubscribe ---------------------------------------------------------------

@csrf_exempt  # RFC 8058 §3.1: the mail client POSTs without cookies or a CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation button and changes nothing (link scanners prefetch);
    POST, e.g. ``List-Unsubscribe=One-Click``, unsubscribes and answers 200, no redirect.
    Repeating the POST is harmless. A POST with ``send_link`` mails the person a fresh
    preferences link instead: the page never shows one, since a forwarded email's link
    would otherwise open that person's page (and data) to whoever holds it."""
    try:
        sub_id, list_id, send_id = unsubscribe_token_scope(token)
    except ExpiredToken:
        return _unsubscribe_expired(request, token)
    except BadToken:
        return _bad_link(request, _("This unsubscribe link is invalid. Use the link in the "
                                    "email exactly as it is, or reply to the email."))
    subscriber = Subscriber.objects.filter(pk=sub_id).first()
    mlist = MailingList.objects.filter(pk=list_id).first() if list_id else None
    language = subscriber.language if subscriber else "en"
    lists = services.unsubscribe_scope(subscriber, mlist, send_id) if subscriber else []
    with translation.override(language if language in LANGUAGE_CODES else "en"):
        context = {"list": mlist, "list_names": ", ".join(m.name for m in lists),
                   "token": token, "gone": subscriber is None}
        if request.method == "GET":
            return render(request, "subscribers/unsubscribe.html", context)
        if request.POST.get("send_link"):
            return _preferences_link_mail(request, sub_id)
        if subscriber is not None and not (list_id and mlist is None):
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            targets: list[MailingList | None] = list(lists) or [None]  # None: everything
            for target in targets:
                services.unsubscribe(subscriber, target,
                                     actor="subscriber:one-click" if one_click else "subscriber:web",
                                     source="list-unsubscribe" if one_click else "unsubscribe page",
                                     ip=client_ip(request))
        return render(request, "subscribers/unsubscribe_done.html", context)


def _unsubscribe_expired(request: HttpRequest, token: str) -> HttpResponse:
    """An authentic link past ``UNSUBSCRIBE_LINK_MAX_AGE_DAYS``: nothing changes; the page
    offers a fresh preferences link by email (to the address of record only)."""
    sub_id, _list, _send = unsubscribe_token_scope(token, expired_ok=True)
    subscriber = Subscriber.objects.filter(pk=sub_id).first()
    language = subscriber.language if subscriber else "en"
    with translation.override(language if language in LANGUAGE_CODES else "en"):
        if request.method == "POST" and request.POST.get("send_link"):
            return _preferences_link_mail(request, sub_id)
        return render(request, "subscribers/unsubscribe_expired.html",
                      {"days": settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS}, status=410)


def _preferences_link_mail(request: HttpRequest, subscriber_id: int) -> HttpResponse:
    """Queue a preferences link to the person's own address; the same page whether or not
    it goes out (erased person, or the daily limit reached)."""
    person = Subscriber.objects.filter(pk=subscriber_id).first()
    if person and not rate_limited("preferences-mail", person.email_hash, CONFIRMATIONS_PER_DAY,
                                   86400):
        mail_queue(TransactionalMail.Kind.PREFERENCES_LINK, person)
    return render(request, "subscribers/link_sent.html", {})


# --- Preferences, data download, erasure -------------------------------------------------------

def _subscriber_from(token: str) -> Subscriber:
    """The person a preferences link names; BadToken if forged or expired, 404 if erased."""
    sub_id = preferences_token_read(token)
    subscriber = Subscriber.objects.filter(pk=sub_id).first()
    if subscriber is None:
        raise Http404("no such subscriber")
    return subscriber


def _preferences_lists(subscriber: Subscriber) -> tuple[list[MailingList], set[int]]:
    """Public lists plus any list the person is on; and the ids they currently receive."""
    active = set(subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED)
                 .values_list("mailing_list_id", flat=True))
    mine = set(subscriber.subscriptions.values_list("mailing_list_id", flat=True))
    lists = list(MailingList.objects.filter(visibility=MailingList.Visibility.PUBLIC)
                 | MailingList.objects.filter(pk__in=mine))
    return sorted(set(lists), key=lambda m: m.name), active


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _subscriber_from(token)
    except BadToken:
        return _bad_link(request, _("This preferences link is invalid or has expired. Use the "
                                    "link in a recent email."))
    lists, active = _preferences_lists(subscriber)
    choices = [(str(m.pk), m.name) for m in lists]
    initial = {"name": subscriber.name, "language": subscriber.language,
               "lists": [str(i) for i in active]}
    form = PreferencesForm(request.POST or None, initial=initial, list_choices=choices)
    saved = False
    if request.method == "POST" and form.is_valid():
        _preferences_save(subscriber, lists, active, form.cleaned_data, client_ip(request))
        saved = True
        lists, active = _preferences_lists(subscriber)
    with translation.override(subscriber.language):
        return render(request, "subscribers/preferences.html", {
            "subscriber": subscriber, "form": form, "token": token, "saved": saved},
            status=400 if request.method == "POST" and not saved else 200)


def _preferences_save(subscriber: Subscriber, lists: list[MailingList], active: set[int],
                      data: dict[str, Any], ip: str | None) -> None:
    """Apply the form and mail the person a summary of what changed, if anything did (a
    change made by whoever holds a forwarded link then reaches the owner's inbox)."""
    wanted = {int(x) for x in data["lists"]}
    joined: list[str] = []
    left: list[str] = []
    change_language = data["language"] if data["language"] != subscriber.language else ""
    name_changed = data["name"] != subscriber.name
    with transaction.atomic():
        subscriber.name = data["name"]
        subscriber.language = data["language"]
        subscriber.save(update_fields=["name", "language", "updated_at"])
        if wanted - active:
            # The signed link proves the address is theirs: like a confirmed opt-in.
            services.suppression_lift_for_optin(subscriber)
        for mlist in lists:
            if mlist.pk in wanted and mlist.pk not in active:
                if mlist.visibility != MailingList.Visibility.PUBLIC:
                    continue  # private lists are joined only by an admin
                services.subscription_set(subscriber, mlist, Subscription.Status.CONFIRMED,
                                          actor="subscriber:preferences", method="preferences",
                                          source="preferences page", ip=ip)
                joined.append(mlist.name)
            elif mlist.pk not in wanted and mlist.pk in active:
                services.unsubscribe(subscriber, mlist, actor="subscriber:preferences",
                                     source="preferences page", ip=ip)
                left.append(mlist.name)
        change = PreferencesChange(joined=tuple(joined), left=tuple(left),
                                   language=change_language, name_changed=name_changed)
        if change:
            mail_queue(TransactionalMail.Kind.PREFERENCES_CHANGED, subscriber,
                       detail=change.as_detail())


@never_cache
@require_http_methods(["POST"])
def leave(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _subscriber_from(token)
    except BadToken:
        return _bad_link(request, _("This preferences link is invalid or has expired."))
    # No "preferences changed" mail here: the person asked for no more mail from us, the
    # page that answers says what happened, and the address is now suppressed.
    services.leave_everything(subscriber, actor="subscriber:preferences",
                              source="preferences page: leave everything",
                              ip=client_ip(request))
    with translation.override(subscriber.language):
        return render(request, "subscribers/left.html", {"token": token})


@never_cache
@require_http_methods(["GET"])
def data_download(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _subscriber_from(token)
    except BadToken:
        return _bad_link(request, _("This preferences link is invalid or has expired."))
    body = json.dumps(services.subscriber_data(subscriber), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-newsletter-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = _subscriber_from(token)
    except BadToken:
        return _bad_link(request, _("This preferences link is invalid or has expired."))
    with translation.override(subscriber.language):
        if request.method == "GET":
            return render(request, "subscribers/erase.html", {"token": token})
        services.subscriber_erase(subscriber, actor="subscriber:preferences")
        return render(request, "subscribers/erased.html", {})
