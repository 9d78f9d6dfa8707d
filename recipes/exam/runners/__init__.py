"""The option runners, by topic: each function runs one option on a :class:`~recipes.exam.lab.Lab`
and returns an :class:`~recipes.exam.questions.Outcome`.

- :mod:`.registry`: stages and archiving, aliases;
- :mod:`.unity_catalog`: model URIs in three registries, Unity Catalog's rules;
- :mod:`.serving`: scale-to-zero, traffic splits, request formats, signatures, config updates,
  inference tables;
- :mod:`.batch`: 100M rows, ``spark_udf``'s result type and env manager, ``score_batch``;
- :mod:`.streaming`: ``readStream`` with and without a checkpoint;
- :mod:`.monitoring`: drift statistics.
"""
