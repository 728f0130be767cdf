# One date style for the whole staff app and public pages in English: "3 Dec 2026, 13:45"
# (day first and a 24-hour clock, as read across Central Asia; no "p.m." beside "Dec.").
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
