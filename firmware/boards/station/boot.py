# Check-in station, runs first after every reset. Nothing to do before main.py
# but free the heap from the boot's leftovers.
import gc

gc.collect()
