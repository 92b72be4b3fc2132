"""The exception hierarchy: six classes, the ValueError ones where input is at fault."""

import coffer


def test_every_coffer_exception_derives_from_coffer_error():
    for cls in (coffer.InvalidInput, coffer.InvalidKey, coffer.MalformedError, coffer.DecryptError, coffer.VerifyError):
        assert issubclass(cls, coffer.CofferError), cls
    assert issubclass(coffer.CofferError, Exception)


def test_input_errors_are_value_errors_and_failures_to_open_or_verify_are_not():
    for cls in (coffer.InvalidInput, coffer.InvalidKey, coffer.MalformedError):
        assert issubclass(cls, ValueError), cls
    for cls in (coffer.DecryptError, coffer.VerifyError, coffer.CofferError):
        assert not issubclass(cls, ValueError), cls


def test_exceptions_are_named_in_the_coffer_package():
    assert coffer.DecryptError.__module__ == "coffer"
    assert coffer.DecryptError.__qualname__ == "DecryptError"
    assert "no plaintext" in coffer.DecryptError.__doc__


def test_a_raised_error_carries_cores_message():
    kek = coffer.Kek.generate()
    try:
        kek.unwrap(bytes(40))
    except coffer.DecryptError as e:
        assert str(e).startswith("decryption failed")
    else:
        raise AssertionError("unwrapping zeros must fail")
