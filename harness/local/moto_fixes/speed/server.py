"""The server itself: the list of moto's service modules is read once."""

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
