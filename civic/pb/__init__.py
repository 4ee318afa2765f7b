"""Budżet Obywatelski (participatory budget) as a process: editions, phases, workflow,
ballots, results and execution. Framework-free; the web side is app/pb/."""
