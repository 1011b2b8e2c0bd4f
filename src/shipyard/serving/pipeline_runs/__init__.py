"""Pipeline runs over REST: start one (one per pipeline at a time) and follow it by its id.

Four modules: :mod:`.claims` (the claim rows and their repository), :mod:`.schemas` (what the
API takes and answers), :mod:`.supervisor` (the run processes: started, watched, settled) and
:mod:`.routes` (the two endpoints).

A triggered run is a ``shipyard run --run-id ID`` child process, so a crash of the run cannot
take the server down, and the id is chosen here first so that the 202 answer can name it. Three
things make that safe:

* **One run per pipeline, across servers.** A claim row per pipeline in the metadata database
  (``shipyard_pipeline_claims``, primary key = pipeline) is inserted before the child starts;
  the database refuses a second one, so two server processes cannot both start a run. A run
  started from the command line holds no claim; it still refuses a trigger while its process
  lives (best effort: there is no claim to make that atomic).
* **A dead holder does not block for ever.** On this host a claim holds while the server that
  made it lives (its thread will settle the run), and after that server is gone while the run
  process lives: the process table is the exact answer, at once. A claim from another host cannot
  be checked that way, so it carries a
  heartbeat that its server renews while the child runs, and is stale once the heartbeat is
  older than ``stale_after_s``. A stale claim is taken over: its run is settled first.
* **Every run ends recorded, and every child is reaped.** A thread per child waits for it
  (``Popen.wait``: no zombie) and then *settles* the run: a child that died before writing its
  record (a bad param, a broken config) gets a failed record with the error it printed; one
  killed mid-run (its record still says running) is marked interrupted. Settling is idempotent,
  so a taking-over server and the original one may both do it.

The run's output goes to ``runs/<id>.log`` of the environment's state for the operator (written
there as it comes in a state folder; from a local scratch file once the run ends when the state
is an object store); its state comes from the run records (``GET .../runs/{id}``), or
``queued`` while the child has not recorded it yet.
"""
