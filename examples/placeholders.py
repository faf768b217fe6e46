"""Nothing here is reported: placeholders and environment reads."""
import os

import cirq_ionq
from qiskit_ibm_runtime import QiskitRuntimeService

service = QiskitRuntimeService(channel="ibm_quantum_platform", token="<your-API-key>")
other = QiskitRuntimeService(token=os.environ["QISKIT_IBM_TOKEN"])
ionq_service = cirq_ionq.Service(api_key="tomyheart")
ionq_env = cirq_ionq.Service(api_key=os.getenv("IONQ_API_KEY"))
headers = {"Authorization": f"apiKey {os.environ['IONQ_API_KEY']}"}
