"""Apply under stress: kills, faults, concurrent applies, failing steps, a failing database."""
