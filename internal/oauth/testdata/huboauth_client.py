"""The OAuth client side of a single-user server, played by JupyterHub's own HubOAuth.

Configured from the environment as jupyterhub-singleuser is. Usage:
  huboauth_client.py login-url        print the authorize URL the server redirects to
  huboauth_client.py exchange CODE    trade the code for a token, read /hub/api/user with it,
                                      print {"model": ..., "allowed": [...]} as JSON
"""
import json
import sys
from urllib.parse import urlencode

from jupyterhub.services.auth import HubOAuth

auth = HubOAuth(cache_max_age=0)
if sys.argv[1] == "login-url":
    print(auth.login_url + "&" + urlencode({"state": "py-state"}))
elif sys.argv[1] == "exchange":
    token = auth.token_for_code(sys.argv[2])
    model = auth.user_for_token(token, use_cache=False)
    allowed = auth.check_scopes(auth.access_scopes, model)
    print(json.dumps({"model": model, "allowed": sorted(allowed)}))
else:
    sys.exit("unknown command " + sys.argv[1])
