from tests.web.personas import *  # noqa: F403  (personas, media in a temporary folder)
