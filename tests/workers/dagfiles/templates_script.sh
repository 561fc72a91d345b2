echo "{{ team }} {{ ds }} {{ macros.ds_add(ds, 1) }}"
