"""Small helpers for the child processes of the local target."""

import socket
import subprocess


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free at the time of the call (the caller retries if it is taken by then)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Terminate a child, killing it if it outlives the grace period; always reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
