"""torch.linspace(float32) and alphas_cumprod from real torch (1.13, CPU) for tables.test.ts.

    /usr/bin/python3 src/schedulers/__fixtures__/gen_torch_tables.py | gzip -9n > src/schedulers/__fixtures__/torch_tables.json.gz
"""
import torch, json
cases=[(0.0001,0.02,1000),(0.00085**0.5,0.012**0.5,1000),(0.0,1.0,1000),(1.0,0.001,13),(0.3,7.1,37),(3.0,-2.0,1001),(0.0001,0.02,1),(0.0001,0.02,2),(0.0001,0.02,17),(0.0,1.0,999)]
out=[]
for a,b,n in cases:
    t=torch.linspace(a,b,n,dtype=torch.float32)
    out.append({"start":a,"end":b,"steps":n,"values":[float(v) for v in t.tolist()]})
    ac=None
# alphas_cumprod for SD scaled_linear and DDPM linear
for name,betas in [("scaled_linear", torch.linspace(0.00085**0.5,0.012**0.5,1000,dtype=torch.float32)**2),("linear", torch.linspace(0.0001,0.02,1000,dtype=torch.float32))]:
    out.append({"alphas_cumprod":name,"values":torch.cumprod(1.0-betas,dim=0).tolist()})
print(json.dumps({"torch_version":torch.__version__,"cases":out}))
