"""SQS: a queue policy's explicit Deny of sending, which moto stores but never enforces. A
statement that denies everyone (`Principal` "*" or {"AWS": "*"}) SendMessage on the queue,
with conditions that hold without a request context (none), refuses SendMessage and
SendMessageBatch as AWS does: `AccessDenied`, HTTP 403. That is how a fault takes a
queue's sends away through the API a user's tooling would use (SetQueueAttributes). A
Deny naming particular principals is not enforced: moto does not tell callers apart. Only
sending is checked; the queue's own redrive to a dead-letter queue is no send.
"""

import json
from typing import Any

from harness.local.moto_fixes.additions.iam import EXPLICIT_DENY, decide
from harness.local.moto_fixes.guard import fix

SEND = "sqs:SendMessage"
"""The action a SendMessageBatch is authorised as too."""
ENFORCED = frozenset({SEND})
"""The actions whose explicit Deny in a resource policy the local target enforces."""


def denies_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*")


@fix(
    "moto.sqs.responses.SQSResponse.send_message",
    "moto.sqs.responses.SQSResponse.send_message_batch",
    "moto.sqs.responses.SQSResponse._get_queue_name",
    "moto.sqs.responses.SQSResponse.sqs_backend",
    "moto.sqs.models.SQSBackend.get_queue",
    "moto.sqs.models.Queue.policy",
    "moto.sqs.models.Queue().queue_arn",
    "moto.sqs.exceptions.SQSException",
)
def queue_policies_deny_sends() -> None:
    from moto.sqs.exceptions import SQSException
    from moto.sqs.responses import SQSResponse

    class AccessDenied(SQSException):
        code = "AccessDenied"
        status_code = 403

    def guarded(send: Any) -> Any:
        def checked(self: Any) -> Any:
            queue = self.sqs_backend.get_queue(self._get_queue_name())
            statements = json.loads(queue.policy or "{}").get("Statement", [])
            statements = statements if isinstance(statements, list) else [statements]
            everyone = [s for s in statements if denies_everyone(s)]
            if decide(everyone, SEND, queue.queue_arn, {}, set()) == EXPLICIT_DENY:
                raise AccessDenied(
                    f"Access to the resource {queue.queue_arn} is denied by its queue policy."
                )
            return send(self)

        return checked

    SQSResponse.send_message = guarded(SQSResponse.send_message)
    SQSResponse.send_message_batch = guarded(SQSResponse.send_message_batch)
