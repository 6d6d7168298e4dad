"""``loa schedule add|list|show|skip|unskip|pause|resume|remove``: bulletins that recur on the calendar
(loa.v1.Schedules on the running server; docs/SCHEDULES.md).

    loa schedule add --group xa-an-binh --weekdays mon-fri --at 17:00 --text "Bản tin chiều..."

Times of day are local to the schedule's zone (--tz, default the server's time_zone); times shown carry
their offset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.api.cli_client import add_client_options, connect, rpc_failed, server_zone
from engine.timefmt import format_time
from streaming.priority import Priority

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OCCURRENCE = {1: "scheduled", 2: "missed", 3: "skipped", 4: "failed"}


def _error(action: str, exc: Any) -> int:
    return rpc_failed(f"loa schedule {action}", exc)


def _describe(s: Any, tz: Any, full: bool = False) -> str:
    from protos.loa.v1 import loa_pb2 as pb

    r = s.recurrence
    days = ",".join(_WEEKDAYS[d - 1] for d in r.weekdays) or "every day"
    state = "paused" if s.paused else "active"
    nxt = format_time(s.next_time.ToNanoseconds() / 1e9, tz) if s.HasField("next_time") else "-"
    priority = Priority.from_wire(s.template.priority).label
    line = (
        f"{s.id}  {state:<6} {days} at {','.join(t[:5] if t.endswith(':00') else t for t in r.times)} "
        f"({r.time_zone})  next {nxt}  {priority} {','.join(s.template.group_ids)}  {s.template.title}"
    )
    if not full:
        return line
    lines = [line]
    if r.first_date or r.last_date:
        lines.append(f"  dates: {r.first_date or '…'} .. {r.last_date or '…'}")
    if r.exception_dates:
        lines.append(f"  except: {', '.join(r.exception_dates)}")
    text = " | ".join(seg.text or "[audio]" for seg in s.template.segments)
    lines.append(f"  text: {text}")
    for o in s.recent:
        when = format_time(o.time.ToNanoseconds() / 1e9, tz)
        state = _OCCURRENCE.get(o.state, pb.OccurrenceState.Name(o.state))
        lines.append(f"  {when}  {state:<9} {o.broadcast_id or '-':<16} {o.reason}")
    return "\n".join(lines)


def _add(args: argparse.Namespace) -> int:
    import grpc

    from engine.jobs.recurrence import parse_weekdays
    from protos.loa.v1 import loa_pb2 as pb

    text = Path(args.file).read_text(encoding="utf-8") if args.file else args.text
    if not text:
        print("loa schedule add: give --text or --file", file=sys.stderr)
        return 2
    try:
        weekdays = sorted(parse_weekdays(args.weekdays or "", "--weekdays"))
    except ValueError as exc:
        print(f"loa schedule add: {exc}", file=sys.stderr)
        return 2
    segment = pb.Segment(
        language=args.lang,
        dialect=args.dialect or "",
        text=text,
        voice=pb.VoiceSettings(voice_id=args.voice or ""),
    )
    template = pb.CreateBroadcastRequest(
        segments=[segment],
        group_ids=args.group,
        priority=pb.Priority.Name(args.priority),
        repeat_count=args.repeat,
        chime=args.chime,
        title=args.title or "",
    )
    recurrence = pb.Recurrence(
        time_zone=args.tz or "",
        times=args.at,
        weekdays=[pb.Weekday.Name(d + 1) for d in weekdays],
        first_date=args.first_date or "",
        last_date=args.last_date or "",
        exception_dates=args.skip or [],
    )
    request = pb.CreateScheduleRequest(schedule=pb.Schedule(template=template, recurrence=recurrence))
    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            schedule = client.schedules.CreateSchedule(request, metadata=client.metadata, timeout=30)
        except ValueError as exc:
            print(f"loa schedule add: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error("add", exc)
    print(_describe(schedule, tz))
    return 0


def _list(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            reply = client.schedules.ListSchedules(
                pb.ListSchedulesRequest(group_id=args.group or ""), metadata=client.metadata
            )
        except ValueError as exc:
            print(f"loa schedule list: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error("list", exc)
    for s in reply.schedules:
        print(_describe(s, tz))
    return 0


def _show(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            s = client.schedules.GetSchedule(
                pb.GetScheduleRequest(schedule_id=args.id), metadata=client.metadata
            )
        except ValueError as exc:
            print(f"loa schedule show: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error("show", exc)
    print(_describe(s, tz, full=True))
    return 0


def _update(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    request = pb.UpdateScheduleRequest(schedule_id=args.id)
    if args.action == "skip":
        request.add_exception_dates.extend(args.dates)
    elif args.action == "unskip":
        request.remove_exception_dates.extend(args.dates)
    else:
        request.paused = args.action == "pause"
    with connect(args) as client:
        try:
            tz = server_zone(args, client)
            s = client.schedules.UpdateSchedule(request, metadata=client.metadata)
        except ValueError as exc:
            print(f"loa schedule {args.action}: {exc}", file=sys.stderr)
            return 2
        except grpc.RpcError as exc:
            return _error(args.action, exc)
    print(_describe(s, tz, full=True))
    return 0


def _remove(args: argparse.Namespace) -> int:
    import grpc

    from protos.loa.v1 import loa_pb2 as pb

    with connect(args) as client:
        try:
            client.schedules.DeleteSchedule(
                pb.DeleteScheduleRequest(schedule_id=args.id), metadata=client.metadata
            )
        except grpc.RpcError as exc:
            return _error("remove", exc)
    print(f"schedule {args.id} removed (its occurrences not yet started are cancelled)")
    return 0


def _priority(text: str) -> Priority:
    try:
        return Priority.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub: argparse._SubParsersAction) -> None:
    schedule = sub.add_parser(
        "schedule",
        help="bulletins on the calendar: every day at 06:00, Monday-Friday 17:00 (docs/SCHEDULES.md)",
        description="Recurring bulletins on the running server (loa.v1.Schedules).",
    )
    actions = schedule.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="a new schedule")
    add.add_argument("--group", action="append", required=True, help="target group id (repeatable)")
    add.add_argument("--at", action="append", required=True, help="local time of day HH:MM (repeatable)")
    add.add_argument("--weekdays", help="mon-fri, sat,sun, ... (default: every day)")
    add.add_argument("--text", help="the bulletin text")
    add.add_argument("--file", help="read the text from a UTF-8 file")
    add.add_argument("--from", dest="first_date", help="first local date YYYY-MM-DD")
    add.add_argument("--until", dest="last_date", help="last local date YYYY-MM-DD (inclusive)")
    add.add_argument("--skip", action="append", help="an exception date YYYY-MM-DD (repeatable)")
    add.add_argument("--priority", type=_priority, default=Priority.NORMAL, help="normal, high or emergency")
    add.add_argument("--lang", default="vi")
    add.add_argument("--dialect", choices=["south", "north"])
    add.add_argument("--voice")
    add.add_argument("--repeat", type=int, default=1, help="airings each time")
    add.add_argument("--chime", action="store_true")
    add.add_argument("--title")
    add_client_options(add)  # --tz here is also the schedule's zone
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="schedules with their next occurrence")
    listing.add_argument("--group")
    add_client_options(listing)
    listing.set_defaults(func=_list)

    show = actions.add_parser("show", help="a schedule and its recent occurrences (made, missed, skipped)")
    show.add_argument("id")
    add_client_options(show)
    show.set_defaults(func=_show)

    for name, helptext in (
        ("skip", "add exception dates (holidays); an occurrence already made that day is cancelled"),
        ("unskip", "remove exception dates"),
    ):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("id")
        action.add_argument("dates", nargs="+", metavar="YYYY-MM-DD")
        add_client_options(action)
        action.set_defaults(func=_update)
    for name, helptext in (("pause", "stop making occurrences"), ("resume", "make them again from now")):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("id")
        add_client_options(action)
        action.set_defaults(func=_update)

    remove = actions.add_parser("remove", help="delete a schedule")
    remove.add_argument("id")
    add_client_options(remove)
    remove.set_defaults(func=_remove)
