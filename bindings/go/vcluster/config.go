package vcluster

/*
#include "zz_shims.h"
*/
import "C"

import "runtime"

// Config is a vcluster.yaml configuration (vc_config), starting from
// upstream's defaults; files and Set calls merge over it.
type Config struct {
	c *C.vc_config
}

// NewConfig holds the defaults, then loads each values file in order.
func NewConfig(files ...string) (*Config, error) {
	if err := ensureInit(); err != nil {
		return nil, err
	}
	c := &Config{}
	if _, err := vc_config_new(&c.c); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(c, (*Config).Close)
	for _, f := range files {
		if err := c.LoadFile(f); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close releases the configuration (idempotent).
func (c *Config) Close() error {
	if c.c != nil {
		vc_config_free(c.c)
		c.c = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

func (c *Config) handle() *C.vc_config {
	if c == nil || c.c == nil {
		panic("vcluster: use of a closed Config")
	}
	return c.c
}

// LoadFile merges a values file; on error the config is unchanged.
func (c *Config) LoadFile(path string) error {
	defer runtime.KeepAlive(c)
	var cs cstrings
	defer cs.free()
	_, err := vc_config_load_file(c.handle(), cs.str(path))
	return err
}

// LoadString merges values given as YAML or JSON; name labels messages.
func (c *Config) LoadString(text, name string) error {
	defer runtime.KeepAlive(c)
	var cs cstrings
	defer cs.free()
	_, err := vc_config_load_string(c.handle(), cs.str(text), cs.opt(name))
	return err
}

// Set sets one dotted key like `helm --set key=value`.
func (c *Config) Set(key, value string) error {
	defer runtime.KeepAlive(c)
	var cs cstrings
	defer cs.free()
	_, err := vc_config_set(c.handle(), cs.str(key), cs.str(value))
	return err
}

// Get is the effective value of a dotted key (scalars as text, the rest as YAML).
func (c *Config) Get(key string) (string, error) {
	defer runtime.KeepAlive(c)
	var cs cstrings
	defer cs.free()
	return buf1(func(out *C.vc_buf) (C.int, error) { return vc_config_get(c.handle(), cs.str(key), out) })
}

// YAML renders the whole effective configuration.
func (c *Config) YAML() (string, error) {
	defer runtime.KeepAlive(c)
	return buf1(func(out *C.vc_buf) (C.int, error) { return vc_config_to_yaml(c.handle(), out) })
}

// Distro is "k8s", "k3s" or "k0s".
func (c *Config) Distro() string {
	defer runtime.KeepAlive(c)
	return gostr(vc_config_distro(c.handle()))
}

// BackingStore is where the virtual cluster keeps its data.
func (c *Config) BackingStore() (BackingStore, error) {
	defer runtime.KeepAlive(c)
	var out C.int32_t
	_, err := vc_config_backing_store(&out, c.handle())
	return BackingStore(out), err
}

// HAReplicas is the control plane's replica count.
func (c *Config) HAReplicas() int {
	defer runtime.KeepAlive(c)
	return int(vc_config_ha_replicas(c.handle()))
}

// ServiceType is controlPlane.service.spec.type.
func (c *Config) ServiceType() string {
	defer runtime.KeepAlive(c)
	return gostr(vc_config_service_type(c.handle()))
}
