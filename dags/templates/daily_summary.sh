# Rendered by Loom before it runs, with the run's values (see dags/templates_and_xcom.py).
echo "summary of {{ warehouse }} for {{ ds }} ({{ ds | weekday }}), next day {{ macros.ds_add(ds, 1) }}"
echo "interval {{ data_interval_start | ts }} to {{ data_interval_end | ts }}"
echo "previous success started {{ prev_start_date_success or 'never' }}"
