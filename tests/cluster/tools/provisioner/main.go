// hostpath-provisioner: a dynamic PersistentVolume provisioner for the test
// harness, built on sigs.k8s.io/sig-storage-lib-external-provisioner.
//
// For each claim of a StorageClass whose provisioner is --name it makes the
// directory ROOT/<pv name> (mode 0777) and returns a hostPath PV pointing at
// it; when the PV is released and its reclaim policy is Delete, it removes the
// directory again (only ever a directory directly under ROOT).
//
// Every harness "node" (kwok-simulated or a real kubelet in its own network
// namespace) runs on this one machine and shares its filesystem, so a
// hostPath PV is valid on any node: no node affinity is needed, except that a
// WaitForFirstConsumer claim gets pinned to the node the scheduler selected,
// as a real local-volume provisioner would.
//
// Unlike rancher's local-path-provisioner, nothing runs in a helper pod
// (simulated kwok nodes never run pods), so it behaves the same for kwok and
// real nodes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

const hostnameLabel = "kubernetes.io/hostname"

type hostPathProvisioner struct {
	root   string // absolute, cleaned
	client kubernetes.Interface
}

var _ controller.Provisioner = &hostPathProvisioner{}

// dirFor returns ROOT/name, refusing names that are not a single path element.
func (p *hostPathProvisioner) dirFor(name string) (string, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return "", fmt.Errorf("invalid volume name %q", name)
	}
	return filepath.Join(p.root, name), nil
}

func (p *hostPathProvisioner) Provision(ctx context.Context, o controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if o.PVC.Spec.Selector != nil {
		return nil, controller.ProvisioningFinished, errors.New("claim Selector is not supported")
	}
	if m := o.PVC.Spec.VolumeMode; m != nil && *m == v1.PersistentVolumeBlock {
		return nil, controller.ProvisioningFinished, errors.New("volumeMode Block is not supported (hostPath is a directory)")
	}
	dir, err := p.dirFor(o.PVName)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}

	var affinity *v1.VolumeNodeAffinity
	if o.SelectedNodeName != "" {
		// WaitForFirstConsumer: pin the volume to the node the scheduler chose
		node, err := p.client.CoreV1().Nodes().Get(ctx, o.SelectedNodeName, metav1.GetOptions{})
		if err != nil {
			return nil, controller.ProvisioningNoChange, fmt.Errorf("getting selected node %q: %w", o.SelectedNodeName, err)
		}
		host := node.Labels[hostnameLabel]
		if host == "" {
			host = node.Name
		}
		affinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
				Key: hostnameLabel, Operator: v1.NodeSelectorOpIn, Values: []string{host},
			}}}},
		}}
	}

	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	if err := os.Chmod(dir, 0o777); err != nil { // MkdirAll's mode is subject to the umask
		return nil, controller.ProvisioningFinished, err
	}

	reclaim := v1.PersistentVolumeReclaimDelete
	if o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	hpType := v1.HostPathDirectoryOrCreate
	fs := v1.PersistentVolumeFilesystem
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: o.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   o.PVC.Spec.AccessModes,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: o.PVC.Spec.Resources.Requests[v1.ResourceStorage]},
			VolumeMode:                    &fs,
			MountOptions:                  o.StorageClass.MountOptions,
			NodeAffinity:                  affinity,
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &hpType},
			},
		},
	}
	klog.InfoS("provisioned", "pv", o.PVName, "claim", klog.KObj(o.PVC), "path", dir, "node", o.SelectedNodeName)
	return pv, controller.ProvisioningFinished, nil
}

func (p *hostPathProvisioner) Delete(ctx context.Context, pv *v1.PersistentVolume) error {
	hp := pv.Spec.HostPath
	if hp == nil {
		return fmt.Errorf("PV %s has no hostPath", pv.Name)
	}
	path := filepath.Clean(hp.Path)
	if filepath.Dir(path) != p.root {
		return fmt.Errorf("PV %s: path %q is not directly under %s, not removing it", pv.Name, hp.Path, p.root)
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	klog.InfoS("deleted", "pv", pv.Name, "path", path)
	return nil
}

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: in-cluster configuration)")
	name := flag.String("name", "libvcluster.dev/hostpath", "provisioner name, as in StorageClass.provisioner")
	root := flag.String("root", "", "directory the volumes are made in (required)")
	leaderElect := flag.Bool("leader-elect", false, "use leader election (only one of several replicas provisions)")
	flag.Parse()
	if flag.NArg() > 0 || *root == "" {
		fmt.Fprintln(os.Stderr, "usage: hostpath-provisioner --root DIR [--kubeconfig FILE] [--name NAME] [--leader-elect]")
		os.Exit(2)
	}
	r, err := filepath.Abs(*root)
	if err != nil {
		klog.ErrorS(err, "bad --root")
		os.Exit(2)
	}
	if err := os.MkdirAll(r, 0o755); err != nil {
		klog.ErrorS(err, "making --root")
		os.Exit(1)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.ErrorS(err, "loading the client configuration")
		os.Exit(1)
	}
	cfg.UserAgent = "hostpath-provisioner"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		klog.ErrorS(err, "making the client")
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	p := &hostPathProvisioner{root: filepath.Clean(r), client: client}
	pc := controller.NewProvisionController(ctx, client, *name, p,
		controller.LeaderElection(*leaderElect),
		controller.LeaderElectionNamespace("kube-system"))
	klog.InfoS("starting", "name", *name, "root", p.root)
	pc.Run(ctx) // returns when ctx is done
	klog.InfoS("stopped")
	klog.Flush()
}
