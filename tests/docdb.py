"""A darkmap database made by python from the schema docs/plot.md documents (between its
schema:begin/end markers), independent of src/store: the shell tests of detect, eval and plot
write their inputs with it, so a drift between the documentation and the code fails them."""
import re
import sqlite3

APPLICATION_ID = 0x646D6170  # "dmap"
USER_VERSION = 2


def new_db(path, doc="docs/plot.md"):
    text = open(doc).read()
    schema = re.search(r"<!-- schema:begin -->\s*```sql\n(.*?)```\s*<!-- schema:end -->", text, re.S).group(1)
    con = sqlite3.connect(path)
    con.executescript(schema)
    con.execute("PRAGMA application_id = %d" % APPLICATION_ID)
    con.execute("PRAGMA user_version = %d" % USER_VERSION)
    return con
