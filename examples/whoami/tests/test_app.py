"""whoami through its Lambda handler, on API Gateway events as the route receives them behind
taskgate's authorizer (examples/whoami/events/): the caller's own path, another user's path,
and an event without the authorizer's context."""

import copy
import json
from pathlib import Path

import pytest

import app

EVENTS = Path(__file__).resolve().parents[1] / "events"
USER = "u7Kq2Yd9RmXc4LpN8sTf3VbW6hZj1AeG"
SESSION = "Yq3bN7vK2xW9mT4pR8sL6dF1hJ5cG0aZ"


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


def call(event):
    response = app.handler(event, None)
    assert response["headers"]["cache-control"] == "no-store"
    assert response["headers"]["x-content-type-options"] == "nosniff"
    return response["statusCode"], response["headers"], json.loads(response["body"])


def assert_problem(status, headers, body, expected, kind):
    assert status == expected
    assert headers["content-type"] == "application/problem+json"
    assert body["type"] == f"tag:taskgate,2026:problem:{kind}"
    assert body["status"] == expected
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)


def test_the_caller_on_their_own_path_gets_their_user_and_session():
    status, headers, body = call(event("caller"))
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == {"sub": USER, "sid": SESSION}


def test_a_token_without_a_session_gets_a_null_sid():
    caller = event("caller")
    del caller["requestContext"]["authorizer"]["lambda"]["sid"]
    status, _, body = call(caller)
    assert (status, body) == (200, {"sub": USER, "sid": None})


def test_another_users_path_is_403():
    status, headers, body = call(event("other-user"))
    assert_problem(status, headers, body, 403, "forbidden")


@pytest.mark.parametrize(
    "path_user",
    [
        USER.upper(),
        USER.lower(),
        "%75" + USER[1:],  # the same id percent-encoded: compared raw, never decoded
        USER + "%20",
        "",
    ],
)
def test_a_path_user_that_is_not_exactly_the_caller_is_403(path_user):
    caller = event("caller")
    caller["rawPath"] = f"/api/{path_user}/whoami"
    caller["pathParameters"]["user_id"] = USER  # whatever API Gateway decoded it to
    status, headers, body = call(caller)
    assert_problem(status, headers, body, 403, "forbidden")


def test_a_named_stage_before_the_path_is_allowed():
    caller = event("caller")
    caller["rawPath"] = f"/prod/api/{USER}/whoami"
    caller["requestContext"]["stage"] = "prod"
    assert call(caller)[0] == 200


def test_without_the_authorizers_context_the_answer_is_401():
    status, headers, body = call(event("no-authorizer-context"))
    assert_problem(status, headers, body, 401, "unauthorized")
    assert headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "context",
    [{}, {"sub": ""}, {"sub": 7}, {"sid": SESSION}, None],
)
def test_a_context_without_a_usable_sub_is_401(context):
    caller = copy.deepcopy(event("caller"))
    caller["requestContext"]["authorizer"]["lambda"] = context
    status, headers, body = call(caller)
    assert_problem(status, headers, body, 401, "unauthorized")


def test_a_path_that_is_not_whoami_is_404():
    caller = event("caller")
    caller["rawPath"] = f"/api/{USER}/tasks"
    status, headers, body = call(caller)
    assert_problem(status, headers, body, 404, "not-found")
