"""`python -m wagon ARGS`: the wagon command, as installed by this wheel."""

from wagon import main

main()
