-- One static signed callback body for wrk, sent on every request: the generator's ceiling,
-- against which bench/ingest.py checks that callbacks.lua (prebuilt distinct bodies) does
-- not limit the bare baseline. Only for the bare app: the gateway would deduplicate it.
wrk.method = "POST"
wrk.path = os.getenv("WX_PATH")
wrk.headers["Content-Type"] = "text/xml"
wrk.body = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[o000000000000000000000000001]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello 1]]></Content><MsgId>6272960000000000001</MsgId></xml>"
