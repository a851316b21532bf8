"""电子印章: each unit's SM2 seal, the local signing service, the provincial e-seal adapter, and verification.

``sm2`` signs and verifies (gmssl, SM3-with-SM2, the standard's default user ID, DER signatures);
``keystore`` keeps private keys SM4-encrypted at rest; ``envelope`` is the signature structure after
GB/T 38540 and how it travels inside the sealed PDF; ``service`` seals a concluded case's result document
(locally or through ``provincial``) and verifies a sealed file.
"""
