"""The server itself: the list of moto's service modules and each handler's actions are read
once, and the objects moto creates are kept only as long as its backends hold them."""

from typing import Any

from harness.local.moto_fixes.guard import fix


@fix("moto.backends.list_of_moto_modules")
def module_list_once() -> None:
    # moto lists its package directory on disk (a listdir and an isdir per service module)
    # on every request to tell which backend serves it. The list cannot change while the
    # server runs, so it is read once. Measured: a sixth of the server's time under a
    # stream of small requests went there.
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    moto.backends.list_of_moto_modules = lambda: modules


@fix("moto.core.responses.method_names_from_class")
def handler_actions_once() -> None:
    # Before each action, moto lists every function of the handler's class
    # (inspect.getmembers walks and sorts all its attributes, about 25 us) to check the
    # action is one it serves. The list is kept per class, and made again when the class
    # or a base gains or loses an attribute (a fix or addition applied later may add one).
    import moto.core.responses
    from moto.core.utils import method_names_from_class

    kept: dict[type, tuple[tuple[int, ...], frozenset[str]]] = {}

    def actions(clazz: type) -> frozenset[str]:
        stamp = tuple(len(vars(klass)) for klass in clazz.__mro__)
        found = kept.get(clazz)
        if found is None or found[0] != stamp:
            found = kept[clazz] = (stamp, frozenset(method_names_from_class(clazz)))
        return found[1]

    moto.core.responses.method_names_from_class = actions


@fix("moto.core.common_models.BaseModel.__new__")
def untracked_models() -> None:
    # moto appends every model object it creates to its class's `instances_tracked`, for
    # its dashboard (/moto-api/data.json), and never lets go: every SQS message (and the
    # copy each ReceiveMessage makes), every version of a DynamoDB item, every DynamoDB
    # Streams iterator and CloudWatch data point stays in memory, deleted or not (about
    # 1.7 kB per SQS message sent, received and deleted). Nothing here reads the dashboard;
    # objects are now created untracked, and freed once moto drops them.
    from moto.core.common_models import BaseModel

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(new)  # type: ignore[assignment]
