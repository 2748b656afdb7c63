"""Cold-start simulations: synthetic worlds and the step-by-step simulator."""

from coldstart.simulation.simulator import SimulationConfig, default_world, simulate
from coldstart.simulation.synthetic import SyntheticWorld, make_world

__all__ = ["SimulationConfig", "default_world", "simulate", "SyntheticWorld", "make_world"]
