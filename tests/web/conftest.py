from tests.web.personas import *  # noqa: F403  (fixtures shared with tests/api and tests/browser)
