"""`python -m zammad_sla_plugin.cli`: the same command line as `zammad-sla`."""

from zammad_sla_plugin.cli import main

main()
