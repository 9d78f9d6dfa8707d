"""Registry questions: stages and archiving (Q1), model URIs (Q5), Unity Catalog against the
workspace registry (Q6), aliases (Q7)."""

from __future__ import annotations

from recipes.exam.questions import Option, Question
from recipes.exam.runners import registry as r
from recipes.exam.runners import unity_catalog as uc

Q1 = Question(
    id="Q1",
    topic="Model Registry",
    source="module",
    text=(
        "A team has version 3 in Production and wants to promote version 5 to Production while "
        "automatically archiving version 3. Which code is correct?"
    ),
    options=(
        Option(
            "A",
            'client.transition_model_version_stage("model", version=5, stage="Production")',
            r.q1_a,
        ),
        Option(
            "B",
            'client.transition_model_version_stage("model", version=5, stage="Production", '
            "archive_existing_versions=True)",
            r.q1_b,
        ),
        Option("C", 'client.promote_model_version("model", version=5)', r.q1_c),
        Option("D", 'client.set_registered_model_alias("model", "Production", version=5)', r.q1_d),
    ),
    answer="B",
    explanation=(
        "A stage transition only archives the versions already in the target stage when you "
        "ask it to: `archive_existing_versions` is False unless you pass True. Run without it "
        "(A) and Production holds two versions at once. `MlflowClient` has no "
        "`promote_model_version` (C fails before it touches anything). An alias (D) is a "
        "separate pointer that happens to be called 'Production' here; stages ignore it. Stages "
        "are deprecated in favour of aliases and absent from Unity Catalog, but the question "
        "is about stages, and only B does what it asks."
    ),
    needs=frozenset({"registry"}),
)

Q5 = Question(
    id="Q5",
    topic="Model Loading",
    source="module",
    text=(
        "Which model URI format uses the newer alias approach (instead of stages) to load the "
        "production model?"
    ),
    options=(
        Option("A", "models:/churn-predictor/Production", uc.q5_a),
        Option("B", "models:/churn-predictor@champion", uc.q5_b),
        Option("C", "models:/churn-predictor/latest", uc.q5_c),
        Option("D", "runs:/<run_id>/model", uc.q5_d),
    ),
    answer="B",
    # Sources: MLflow 3.17, mlflow/store/artifact/utils/models.py (_parse_model_uri: the suffix
    # "latest" is parsed on purpose and means the newest version, _get_latest_model_version);
    # mlflow/store/_unity_catalog/registry/rest_store.py (get_latest_versions and stage calls
    # raise "Method ... is unsupported for models in the Unity Catalog", suggesting an alias).
    # The study module's "not a valid format" for /latest is wrong: the runs show it load.
    explanation=(
        "`@name` after the model is the alias form: it loads whatever version the alias points "
        "at, in open-source MLflow and in Unity Catalog, where aliases replace stages (the "
        "legacy workspace registry never had them: MLflow's client refuses alias calls there). "
        "`/Production` is the stage form the question contrasts it with, and Unity Catalog "
        "refuses it. C is a valid MLflow URI: MLflow parses `/latest` on purpose, as the "
        "newest version, so it loads in open-source MLflow and resolves in the workspace "
        "registry, as the runs show. It is wrong here because it names no alias, which is "
        "what the question asks for, and always takes the newest version rather than the one "
        "you promoted; and MLflow's Unity Catalog client refuses it (`get_latest_versions` is "
        "unsupported there) and points you to an alias. The study module calls it 'not a valid "
        "format': that is inaccurate. `runs:/` loads a run's files and never asks the registry."
    ),
    needs=frozenset({"registry", "uc", "spark"}),  # see runners.unity_catalog.uc_models
)

Q6 = Question(
    id="Q6",
    topic="Unity Catalog",
    text=(
        "A team moves its models from the workspace model registry to Unity Catalog "
        '(`mlflow.set_registry_uri("databricks-uc")`). What must change in its code?'
    ),
    options=(
        Option(
            "A", "Nothing: the same model names, stage transitions and URIs keep working.", uc.q6_a
        ),
        Option(
            "B",
            "Models get three-level names (catalog.schema.model), and aliases such as "
            "@champion replace stages.",
            uc.q6_b,
        ),
        Option(
            "C", "Stages stay; only the model name gains the catalog and schema in front.", uc.q6_c
        ),
        Option(
            "D",
            "Aliases exist only in the workspace registry, so deployments load "
            "models:/<name>/latest instead.",
            uc.q6_d,
        ),
    ),
    answer="B",
    # Sources: MLflow 3.17, mlflow/utils/_unity_catalog_utils.py (get_full_name_from_sc:
    # a one- or two-part name is completed from the active Spark session's current catalog
    # and schema, and left short, so that Unity Catalog refuses it, when there is no session
    # or the current catalog is spark_catalog / hive_metastore), called by every method of
    # mlflow/store/_unity_catalog/registry/rest_store.py; the same store refuses stage
    # transitions and get_latest_versions (_raise_unsupported_method).
    explanation=(
        "Unity Catalog governs models like tables: a model lives in a schema of a catalog, so "
        "its full name has three parts, `catalog.schema.model`. MLflow's Unity Catalog client "
        "completes a shorter one from the Spark session's current catalog and schema "
        "(`schema.model` becomes `<current catalog>.schema.model`), so a short name works on a "
        "cluster whose current catalog is in Unity Catalog; without a Spark session, or with "
        "the Hive metastore as the current catalog, it is sent as it is and refused. Write "
        "three parts and the name means the same everywhere. Unity Catalog has no stages at "
        "all: `transition_model_version_stage` is refused whatever the name (so C fails), and "
        "so is `/latest`. What it offers instead are aliases, which the workspace registry "
        "never had (MLflow's client refuses alias calls there, so D has it backwards): set "
        "`@champion` on a version and load `models:/<catalog>.<schema>.<model>@champion`."
    ),
    needs=frozenset({"registry", "uc", "spark"}),
)

Q7 = Question(
    id="Q7",
    topic="Model Registry",
    text=(
        "Aliases are named references to versions. Can two aliases point at the same version, "
        "and can one alias point at two versions at once?"
    ),
    options=(
        Option("A", "Yes, and yes.", r.q7_a),
        Option(
            "B",
            "Yes, two aliases can share a version; no, an alias names exactly one version.",
            r.q7_b,
        ),
        Option("C", "No, and no.", r.q7_c),
        Option("D", "No, a version holds one alias; yes, an alias can span versions.", r.q7_d),
    ),
    answer="B",
    explanation=(
        "An alias is a unique, movable name for one version of one model. Setting an alias "
        "that already exists moves it: the old version loses it in the same call. Nothing stops "
        "several aliases from naming the same version, which is what happens when a challenger "
        "is promoted and @champion and @challenger briefly agree."
    ),
    needs=frozenset({"registry"}),
)
