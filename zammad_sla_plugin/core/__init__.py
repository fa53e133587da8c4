"""The pure SLA domain: working calendar, policy, the SLA clock, explanations, notes.

Nothing here does I/O or reads a clock: callers pass `now`, Zammad's ticket, history and
organization as data, and get results as data.
"""
