"""Stand-ins for MSK Connect plugin archives on the local target: the engine runs its own
implementation of the connector class a connector names, so the custom plugin a pattern
uploads only has to exist."""

from pathlib import Path

from harness.function_packages import write_zip


def placeholder_plugin(name: str, folder: Path) -> Path:
    """`folder/<name>.zip`, a reproducible archive holding a note that says what it is."""
    folder.mkdir(parents=True, exist_ok=True)
    note = (
        f"Placeholder for the {name} MSK Connect plugin on cdcbench's local target: its "
        "MSK Connect engine implements the connector class itself.\n"
    )
    return write_zip(folder / f"{name}.zip", {"README.txt": note.encode()})
