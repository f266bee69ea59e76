import json, re, sys, numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Polygon
doc=json.load(open(sys.argv[1])); view=sys.argv[2]; out=sys.argv[3]
box=[float(v) for v in sys.argv[4:8]] if len(sys.argv)>4 else [0,400,0,800]
def rings(d):
    for sub in re.findall(r"M([^Z]*)Z", d):
        yield np.array([[float(a) for a in p.split(",")] for p in sub.split()])
x0,x1,y0,y1=box
fig,ax=plt.subplots(figsize=(10,10*(y1-y0)/(x1-x0)),dpi=90)
cmap=plt.get_cmap("tab20")
for i,r in enumerate(x for x in doc["regions"] if x["view"]==view):
    for ring in rings(r["svg"]):
        ax.add_patch(Polygon(ring,closed=True,fc=cmap(i%20),ec="k",lw=0.4,alpha=0.8))
    allp=np.vstack(list(rings(r["svg"])))
    c=allp.mean(0)
    if x0<c[0]<x1 and y0<c[1]<y1 and (x1-x0)<=250:
        ax.text(*c,r["code"],fontsize=6,ha="center",va="center")
for ring in rings(doc["views"][view]["outline"]):
    ax.add_patch(Polygon(ring,closed=True,fill=False,ec="k",lw=1.2))
ax.set_xlim(x0,x1); ax.set_ylim(y1,y0); ax.set_aspect("equal"); ax.set_title(view)
fig.savefig(out,bbox_inches="tight"); plt.close(fig)
