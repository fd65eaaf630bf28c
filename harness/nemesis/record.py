"""A fault as a scenario schedules it, and as a run records it (results.json)."""

from pydantic import BaseModel, ConfigDict, Field


class FaultSpec(BaseModel):
    """One fault of a scenario's `faults:` list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="What breaks (`cdcbench patterns` lists the kinds).")
    at_s: float = Field(ge=0, le=86_400, description="Seconds into the load.")
    duration_s: float = Field(gt=0, le=3_600, description="How long it lasts.")


class FaultExpectation(BaseModel):
    """A pattern's own expected outcome under one kind of fault (its `pattern.yaml`'s
    `faults:`), where its configuration makes it differ from the kind's (e.g. a queue's
    visibility timeout delays every retry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    says: str = Field(min_length=1, description="The outcome, in words.")
    allowed: list[str] | None = Field(
        None, description="Anomaly classes it may show (default: the kind's)."
    )
    slack_s: float | None = Field(
        None, ge=0, description="Lag allowed beyond the fault's duration and the floor."
    )


class Recovery(BaseModel):
    """How one projection's lag went through a fault (seconds; None: never)."""

    before_ms: float | None
    """The lag before the fault: the highest p99 of its lag windows over the 10 s before
    (a batching pattern's own swings included), but those of the changes committed within
    their usual lag of it (the fault held them up), and after the previous fault's recovery;
    the previous fault's own when its lag had not come back by then."""
    peak_ms: float | None
    """The highest lag of a change committed from the fault's start to its recovery."""
    detect_s: float | None
    """From the fault's start to the first lag window whose p99 is above the alarm level
    (1.5 x before, or the projection's floor if higher, + 1 s): when a lag alarm would have
    fired."""
    recover_s: float | None
    """From the fault's end until the lag windows stayed below the threshold."""
    anomalies: dict[str, int] = Field(default_factory=dict)
    """The projection's anomalies, by class, of the changes committed from the previous
    fault's recovery to this one's (from the run's start for the first fault, to its end
    for the last), and those no commit places (an entity the source never had)."""


class FaultRecord(BaseModel):
    """A fault as applied: from just before its start was asked for until its end had taken
    effect (harness clock, ns), on what, and how each projection went through it against the
    kind's expected outcome."""

    kind: str
    at_s: float
    duration_s: float
    targets: list[str] = Field(default_factory=list)
    started_ns: int | None = None
    ended_ns: int | None = None
    error: str | None = None
    """Why it could not be applied (or does not apply to the pattern)."""
    expected: str = ""
    allowed: list[str] | None = None
    """The anomaly classes the pattern may show under it, where the pattern says (None: the
    kind's own)."""
    slack_s: float | None = None
    """The lag it may add beyond its duration and the floor, where the pattern says or it
    depends on what the fault acts on (a function's timeout); None: the kind's own."""
    met: bool | None = None
    """The expected outcome held in every projection (None: not judged)."""
    reasons: list[str] = Field(default_factory=list)
    recovery: dict[str, Recovery] = Field(default_factory=dict)
