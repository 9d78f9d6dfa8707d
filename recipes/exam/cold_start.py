"""What a client of a scale-to-zero endpoint does on Databricks: retry the cold request.

Databricks documents that the first request to an endpoint scaled to zero waits while the
endpoint scales up, and that it can fail with HTTP 555 ("Fix slow requests on Model Serving
endpoints", section "Cold start after scale-up":
https://docs.databricks.com/aws/en/machine-learning/model-serving/model-serving-slow-requests);
a client whose own timeout is shorter than the scale-up gives up first ("Debug model serving
timeouts", client-side timeouts:
https://docs.databricks.com/aws/en/machine-learning/model-serving/model-serving-timeouts).
Scoring is idempotent, so the client's part is to retry, with backoff, on 555 (and 503) and
on a timeout: :func:`retrying_session` is that client, with ``requests`` and urllib3's
``Retry``. The local endpoint answers every cold request (it loads a small model in
milliseconds), so question 2 shows the policy and its measured wait, not a failure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries an invocation of a scale-to-zero endpoint.

    Attributes:
        statuses: the answers retried: 555 (the cold start's, as documented) and 503.
        attempts: the most retries after the first request.
        backoff_factor: urllib3's: waits of 0, 2, 4, 8 … seconds between attempts.
        timeout_s: the client's timeout per attempt; a timed-out attempt is retried too.
    """

    statuses: tuple[int, ...] = (555, 503)
    attempts: int = 5
    backoff_factor: float = 2.0
    timeout_s: float = 120.0

    def as_dict(self) -> dict:
        return {**asdict(self), "statuses": list(self.statuses), "retries_timeouts": True}

    def code(self) -> str:
        """The client as a learner writes it."""
        return (
            'session.mount("https://", HTTPAdapter(max_retries=Retry(total='
            f"{self.attempts}, status_forcelist={list(self.statuses)}, allowed_methods=None, "
            f"backoff_factor={self.backoff_factor:g}))); session.post(invocations_url, "
            f"headers=..., json=body, timeout={self.timeout_s:g})"
        )


POLICY = RetryPolicy()


def retrying_session(policy: RetryPolicy = POLICY):
    """A ``requests.Session`` that retries an invocation as :class:`RetryPolicy` says.

    ``allowed_methods=None`` lets urllib3 retry a POST (it retries only idempotent verbs by
    default); ``read`` retries cover a timed-out attempt; ``raise_on_status=False`` hands
    back the last answer when every attempt failed, so the caller sees its status.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=policy.attempts,
        connect=policy.attempts,
        read=policy.attempts,
        status=policy.attempts,
        status_forcelist=policy.statuses,
        allowed_methods=None,
        backoff_factor=policy.backoff_factor,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
