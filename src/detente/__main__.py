"""python -m detente"""

from detente.cli import main

main()
