window.__searchShard("b0/index",{"buckets":1,"days":"]:/f00","docChunk":8,"docs":3,"termShards":["","تتلق"],"width":3});
