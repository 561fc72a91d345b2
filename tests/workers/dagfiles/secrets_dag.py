from datetime import datetime

from engine import DAG, BaseHook, BashOperator, Variable, task

with DAG("secrets", schedule=None, start_date=datetime(2026, 1, 1)):

    @task
    def read() -> str:
        conn = BaseHook.get_connection("warehouse")
        print(f"connecting to {conn.host} as {conn.login} with {conn.password}")
        print("token is", Variable.get("api_token"), "and region", Variable.get("region"))
        return conn.host or ""

    read()
    BashOperator(
        task_id="templated",
        bash_command="echo host={{ conn.warehouse.host }} pw={{ conn.warehouse.password }}"
        " region={{ var.value.region }}",
    )
