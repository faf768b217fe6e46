"""Connect to IBM Quantum Platform (leaky on purpose: FAKE keys)."""
import os

from qiskit_ibm_runtime import QiskitRuntimeService as QRS

# A token pasted into code: KG201, reported at the literal, fixable with --fix.
service = QRS(channel="ibm_quantum_platform", token="rLhY34f46rUjDNIM8QBmt48Riy924IveNu6PGdsvZBh3", instance="crn:v1:staging:local:quantum-computing:y97y:a/d4191acf187cd8358f8718c4e1c96360:fac722cd-ca66-ab03-c772-8a8ad6245226::")

API_TOKEN = "7xuE4JrAHNopHG3zqbAxab_wNM0URZmRGTg4_KJS_vBP"


def connect():
    return QRS(token=API_TOKEN)


# Token from the environment, but save_account() writes it to disk in plain text: KG205.
QRS.save_account(token=os.environ["QISKIT_IBM_TOKEN"], channel="ibm_quantum_platform", overwrite=True)
