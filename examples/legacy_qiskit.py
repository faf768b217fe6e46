"""Old QISKit / IBMQ code (leaky on purpose: FAKE token)."""
from qiskit import IBMQ

IBMQ.save_account("48c1cf7d8dc7279bbd84c75666eb7b4836c9595672ac13238fca3f7e1a33de79b591cfc377e7bfa45df33467ca7cf51b30d5db97470bd81e8df18067f7c24818")
provider = IBMQ.enable_account(token="48c1cf7d8dc7279bbd84c75666eb7b4836c9595672ac13238fca3f7e1a33de79b591cfc377e7bfa45df33467ca7cf51b30d5db97470bd81e8df18067f7c24818")
