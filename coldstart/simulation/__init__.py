"""Cold-start simulations: synthetic worlds and the step-by-step simulator."""

from coldstart.simulation.simulator import SimulationConfig, default_world, simulate
from coldstart.simulation.synthetic import SyntheticWorld, make_world
from coldstart.simulation.user_attributes import make_user_attributes

__all__ = ["SimulationConfig", "default_world", "simulate", "SyntheticWorld", "make_world",
           "make_user_attributes"]
