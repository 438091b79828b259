"""The ``dr_report`` DAG's home beside the drills (it is no drill kind): its trigger form and its task bodies, which
resolve the storage connection and pass the object store down to ``drdrill.report``."""
