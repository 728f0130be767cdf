"""Public forms. Labels are translated; every field has a visible label (WCAG 3.3.2)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from subscribers.services import InvalidAddress, TemplateLikeAddress, email_normalise, name_clean

HONEYPOT = "website"  # a field people never see or fill; bots fill every field


class SubscribeForm(forms.Form):
    email = forms.CharField(label=_("Email address"), max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    name = forms.CharField(label=_("Name (optional)"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    language = forms.ChoiceField(label=_("Language of the newsletter"),
                                 choices=settings.LANGUAGES, required=False)
    consent = forms.BooleanField(label=_("I agree to receive this newsletter by email."),
                                 required=True)
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def clean_email(self) -> str:
        try:
            return email_normalise(self.cleaned_data["email"])
        except TemplateLikeAddress:
            raise forms.ValidationError(
                _("The part before the @ contains a character this newsletter does not accept "
                  "({ } % $ ` |). Please use another address."),
            ) from None
        except InvalidAddress:
            raise forms.ValidationError(
                _("This does not look like an email address. Check it and try again."),
            ) from None

    def clean_name(self) -> str:
        return name_clean(self.cleaned_data.get("name", ""))


class PreferencesForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    language = forms.ChoiceField(label=_("Language of the newsletter"),
                                 choices=settings.LANGUAGES)
    lists = forms.MultipleChoiceField(label=_("Lists"), required=False,
                                      widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, list_choices: list[tuple[str, str]], **kwargs: object
                 ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["lists"].choices = list_choices  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        return name_clean(self.cleaned_data.get("name", ""))
