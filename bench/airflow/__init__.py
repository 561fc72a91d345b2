"""Side-by-side with Apache Airflow 3: the same DAG shapes on both, in one run (opt-in)."""
