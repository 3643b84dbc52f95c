"""The offline rule of tests/unit holds: an outside host is refused, this machine is not."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_a_connection_to_another_host_is_refused():
    with pytest.raises(SocketConnectBlockedError), pytest.warns(UserWarning, match="203.0.113.7"):
        socket.create_connection(("203.0.113.7", 80), timeout=1)  # TEST-NET-3: never a real host


def test_a_connection_to_this_machine_is_allowed():
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), timeout=5):
        pass
