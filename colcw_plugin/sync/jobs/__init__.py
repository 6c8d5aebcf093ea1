"""The jobs engine: job kinds, runs and their records, the RQ queue, recovery, history, schedules and
the scheduler. Features register their job kinds (:mod:`.kinds`); nothing here knows one by name.
"""
