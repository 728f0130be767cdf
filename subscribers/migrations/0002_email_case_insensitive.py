# Addresses become unique whatever the case of the local part, and email_hash is
# computed from the lower-cased address (see subscribers.models.email_hash).

import hashlib

import django.db.models.functions.text
from django.db import migrations, models


def _hash(email):
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()


def rehash(apps, schema_editor):
    Subscriber = apps.get_model("subscribers", "Subscriber")
    Suppression = apps.get_model("subscribers", "Suppression")
    for sub in Subscriber.objects.exclude(email="").iterator():
        if sub.email_hash != _hash(sub.email):
            Subscriber.objects.filter(pk=sub.pk).update(email_hash=_hash(sub.email))
    seen = set()
    for sup in Suppression.objects.exclude(email="").order_by("pk").iterator():
        new = _hash(sup.email)
        if new in seen or (new != sup.email_hash and Suppression.objects.filter(email_hash=new).exists()):
            sup.delete()  # the same address suppressed twice in two spellings: keep the first
            continue
        seen.add(new)
        if new != sup.email_hash:
            Suppression.objects.filter(pk=sup.pk).update(email_hash=new)


class Migration(migrations.Migration):

    dependencies = [
        ('subscribers', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(rehash, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='subscriber',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), name='subscriber_email_ci_unique'),
        ),
    ]
