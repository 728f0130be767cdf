# One date style in Russian: "3 декабря 2026 г., 13:45" ("E" is the month in the genitive).
DATE_FORMAT = "j E Y г."
SHORT_DATE_FORMAT = "j E Y г."
DATETIME_FORMAT = "j E Y г., H:i"
SHORT_DATETIME_FORMAT = "j E Y г., H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y г."
