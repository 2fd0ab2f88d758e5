"""Suppliers (issue 16): the 法人番号 check digit, registration by an admin, supplier keys, and a prefecture
issuing, listing and revoking the keys of its own municipalities (delegated onboarding)."""

from __future__ import annotations

import random

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.principal import Principal
from registry.suppliers.corporate_number import check_digit, is_valid, problem
from tests.conftest import as_principal, assert_problem

# Published corporate numbers (国税庁法人番号公表サイト): the National Tax Agency, Toyota Motor, the Tokyo
# Metropolitan Government and the Digital Agency. The oracle is the NTA's publication, not our formula.
PUBLISHED = ("7000012050002", "1180301018771", "8000020130001", "4000012010017")
NTA = PUBLISHED[0]
CHIYODA, SHINJUKU, OSAKA_CITY = "131016", "131041", "271004"


@pytest.mark.parametrize("number", PUBLISHED)
def test_published_corporate_numbers_pass(number: str) -> None:
    assert is_valid(number)
    assert check_digit(number[1:]) == int(number[0])


@pytest.mark.parametrize("number", PUBLISHED)
def test_every_other_check_digit_fails(number: str) -> None:
    wrong = [f"{d}{number[1:]}" for d in "0123456789" if d != number[0]]
    assert len(wrong) == 9
    for candidate in wrong:
        why = problem(candidate)
        assert why is not None and f"should be {number[0]}" in why


@pytest.mark.parametrize("bad", ["", "700001205000", "70000120500021", "70000120500O2", " 7000012050002"])
def test_not_thirteen_digits(bad: str) -> None:
    assert problem(bad) == "a corporate number (法人番号) is 13 digits, e.g. 7000012050002"


async def test_sql_and_python_agree(owner: asyncpg.Connection) -> None:
    """sql/130's app.corporate_number_ok and the Python rule, on published numbers and 300 random ones."""
    rng = random.Random(16)
    numbers = [*PUBLISHED, *(f"{rng.randrange(10**13):013d}" for _ in range(300))]
    verdicts = await owner.fetch("select n, app.corporate_number_ok(n) from unnest($1::text[]) n", numbers)
    assert {r[0]: r[1] for r in verdicts} == {n: is_valid(n) for n in numbers}
    assert sum(r[1] for r in verdicts) > 300 / 9 / 2  # about one in nine random numbers is valid


async def test_admin_registers_suppliers_and_issues_their_keys(client: AsyncTestClient, make_key) -> None:
    admin = await make_key("admin", "admin")
    tokyo = await make_key("prefecture", "130001")
    body = {"corporate_number": NTA, "name": "国税庁", "name_en": "National Tax Agency"}
    assert_problem(await client.post("/v1/suppliers", json=body, headers=tokyo), 403)
    r = await client.post("/v1/suppliers", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["corporate_number"] == NTA
    assert_problem(await client.post("/v1/suppliers", json=body, headers=admin), 409)
    bad = assert_problem(await client.post("/v1/suppliers", json={**body, "corporate_number": "1000012050002"},
                                           headers=admin), 422)
    assert "should be 7" in bad["detail"]
    assert_problem(await client.post("/v1/suppliers", json={**body, "corporate_number": "12"}, headers=admin), 422)
    assert [s["corporate_number"] for s in (await client.get("/v1/suppliers", headers=tokyo)).json()["items"]] == [NTA]

    r = await client.post("/v1/keys", json={"role": "supplier", "tenant": NTA, "name": "bids"}, headers=admin)
    assert r.status_code == 201, r.text
    supplier = {"Authorization": f"Bearer {r.json()['key']}"}
    me = (await client.get("/v1/me", headers=supplier)).json()
    assert (me["role"], me["tenant_code"], me["prefecture_code"]) == ("supplier", NTA, None)
    assert (await client.get(f"/v1/suppliers/{NTA}", headers=supplier)).json()["name"] == "国税庁"
    assert_problem(await client.get(f"/v1/suppliers/{PUBLISHED[1]}", headers=supplier), 404)
    # A supplier is no tenant of the asset or procurement registries.
    for path in ("/v1/procurement/rounds", f"/v1/municipalities/{CHIYODA}/settings", "/v1/suppliers"):
        assert_problem(await client.get(path, headers=supplier), 403)
    # No key for an organisation nobody registered, nor for a number failing its check digit.
    for tenant in (PUBLISHED[1], "1000012050002"):
        r = await client.post("/v1/keys", json={"role": "supplier", "tenant": tenant, "name": "x"}, headers=admin)
        assert_problem(r, 422)
    # A supplier manages only its own keys.
    r = await client.post("/v1/keys", json={"role": "supplier", "tenant": NTA, "name": "rotation"}, headers=supplier)
    assert r.status_code == 201
    r = await client.post("/v1/keys", json={"role": "municipality", "tenant": CHIYODA, "name": "x"}, headers=supplier)
    assert_problem(r, 403)


async def test_prefecture_onboards_its_own_municipalities(client: AsyncTestClient, make_key) -> None:
    tokyo = await make_key("prefecture", "130001")
    saitama = await make_key("prefecture", "110001")
    shinjuku = await make_key("municipality", SHINJUKU)
    r = await client.post("/v1/keys", json={"role": "municipality", "tenant": CHIYODA, "name": "情報政策課"},
                          headers=tokyo)
    assert r.status_code == 201, r.text
    chiyoda = {"Authorization": f"Bearer {r.json()['key']}"}
    me = (await client.get("/v1/me", headers=chiyoda)).json()
    assert (me["role"], me["tenant_code"], me["prefecture_code"]) == ("municipality", CHIYODA, "130001")
    # Another prefecture's municipality: not among those Tokyo may manage.
    r = await client.post("/v1/keys", json={"role": "municipality", "tenant": OSAKA_CITY, "name": "x"}, headers=tokyo)
    assert_problem(r, 404)
    # Never any other role: another prefecture's key, an admin key, a carrier's.
    for role, tenant in (("prefecture", "110001"), ("admin", "admin"), ("carrier", "docomo"), ("supplier", NTA)):
        r = await client.post("/v1/keys", json={"role": role, "tenant": tenant, "name": "x"}, headers=tokyo)
        assert_problem(r, 403)
    # Lists: Tokyo sees its municipalities' keys and its own, Saitama none of Tokyo's.
    listed = {k["tenant_code"] for k in (await client.get("/v1/keys", headers=tokyo)).json()["items"]}
    assert listed == {"130001", CHIYODA, SHINJUKU}
    assert {k["tenant_code"] for k in (await client.get("/v1/keys", headers=saitama)).json()["items"]} == {"110001"}
    # Revoking: Saitama cannot (404, and the key keeps working), Tokyo can.
    key_id = me["key_id"]
    assert_problem(await client.delete(f"/v1/keys/{key_id}", headers=saitama), 404)
    assert (await client.get("/v1/me", headers=chiyoda)).status_code == 200
    r = await client.delete(f"/v1/keys/{key_id}", headers=tokyo)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(await client.get("/v1/me", headers=chiyoda), 401)
    assert (await client.get("/v1/me", headers=shinjuku)).status_code == 200


async def test_row_security_keeps_prefectures_to_their_municipalities(api_conn: asyncpg.Connection,
                                                                        make_key) -> None:
    """The policy on its own, without the route's checks: the API role acting for Saitama."""
    await make_key("municipality", CHIYODA)
    saitama = Principal("k", "prefecture", "110001", "110001", "t")
    assert await as_principal(api_conn, saitama, "select 1 from api_keys where tenant_code = $1", CHIYODA) == []
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_principal(api_conn, saitama, "insert into api_keys (tenant_code, role, prefecture_code, name, "
                           "key_hash) values ($1, 'municipality', '130001', 'x', '\\x00')", CHIYODA)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # its own prefecture, but not a municipality key
        await as_principal(api_conn, saitama, "insert into api_keys (tenant_code, role, prefecture_code, name, "
                           "key_hash) values ('docomo', 'carrier', null, 'x', '\\x00')")
    tokyo = Principal("k", "prefecture", "130001", "130001", "t")
    assert len(await as_principal(api_conn, tokyo, "select 1 from api_keys where tenant_code = $1", CHIYODA)) == 1
