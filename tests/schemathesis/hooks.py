"""Schemathesis hooks for the runs of tests/schemathesis/run.py against taskgate-local (HS256).

- Every request gets a fresh token for TASKGATE_SUB, so the revoke routes cannot end the run's
  token: `iat` is one second ahead, never before the `not_before` a sign-out everywhere sets (the
  whole second after it), and the token has no `sid`.
- Each answer's operation, status and problem kind goes to TASKGATE_SEEN (one JSON line each),
  for the runner's summary of what was answered.
- TASKGATE_RUN names the run. `own`: the path's user is the token's. `other-path`: the path is
  another user's, and the check `refused_on_another_users_path` holds every answer to 403
  `forbidden`. `other-task`: the token's own path with another user's task id
  (TASKGATE_OTHER_TASK) in every `{task_id}`, and `other_users_task_unseen` holds every answer
  to never showing or changing it.
"""

import base64
import hashlib
import hmac
import json
import os
import time

import schemathesis

RUN = os.environ.get("TASKGATE_RUN", "")
PROBLEM = "tag:taskgate,2026:problem:"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_token(sub: str, secret: str, issuer: str, ahead: int = 1) -> str:
    """An HS256 token for `sub`, valid ten minutes, issued `ahead` seconds from now."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "iss": issuer, "aud": issuer, "iat": now + ahead, "exp": now + 600}
    signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (header, claims))
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# No caching, and no replay on a 401: each request is sent once, with its own token.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class FreshToken:
    def get(self, case, context):
        return mint_token(
            os.environ["TASKGATE_SUB"], os.environ["TASKGATE_SECRET"], os.environ["TASKGATE_ISSUER"]
        )

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _problem(response) -> dict:
    try:
        problem = json.loads(response.content)
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


@schemathesis.hook
def after_call(context, case, response):
    seen = os.environ.get("TASKGATE_SEEN")
    if not seen:
        return
    kind = _problem(response).get("type", "") if response.status_code >= 400 else ""
    answer = {
        "operation": f"{case.operation.method.upper()} {case.operation.path}",
        "method": response.request.method,
        "status": response.status_code,
        "kind": kind.removeprefix(PROBLEM) if isinstance(kind, str) else "",
    }
    with open(seen, "a") as out:
        out.write(json.dumps(answer) + "\n")


def _token_refused(response) -> bool:
    """A 401: Schemathesis dropped or broke the token, or put one in the query string."""
    return response.status_code == 401


def _other_method(response, case) -> bool:
    """A probe with a method the operation does not have (405 from the route table, before any
    token or user is looked at; `OPTIONS` is a CORS preflight): not what these checks judge."""
    return response.request.method.upper() != str(case.operation.method).upper()


if RUN == "other-path":

    @schemathesis.check
    def refused_on_another_users_path(ctx, response, case):
        """Another user's path with a valid token is 403 `forbidden`, whatever else is wrong."""
        if _other_method(response, case):
            return None
        problem = _problem(response)
        if response.status_code == 403 and problem.get("type") == PROBLEM + "forbidden":
            return None
        # Before the path's user is looked at: a path of no route (an empty segment) is 404.
        no_route = response.status_code == 404 and problem.get("detail", "").startswith("no route")
        if no_route or _token_refused(response):
            return None
        raise AssertionError(
            f"another user's path answered {response.status_code} {problem.get('type')}, not 403 forbidden"
        )


if RUN == "other-task":
    OTHER_TASK = os.environ["TASKGATE_OTHER_TASK"]

    @schemathesis.hook
    def map_path_parameters(context, path_parameters):
        if path_parameters and "task_id" in path_parameters:
            path_parameters["task_id"] = OTHER_TASK
        return path_parameters

    @schemathesis.check
    def other_users_task_unseen(ctx, response, case):
        """Another user's task is never shown, changed or deleted: never a success where it is
        named (the stateful phase also works on the caller's own tasks, made by its links)."""
        if OTHER_TASK in response.content.decode(errors="replace"):
            raise AssertionError(f"the answer shows another user's task {OTHER_TASK}")
        named = OTHER_TASK in response.request.url
        if named and not _other_method(response, case) and 200 <= response.status_code < 300:
            raise AssertionError(f"{case.operation.label} on another user's task answered {response.status_code}")
        return None
